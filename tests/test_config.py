"""Settings: precedence, validation and documentation of every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import Settings, load_settings, setting_help
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_toml_environment_and_overrides_in_that_order(tmp_path: Path) -> None:
    toml = tmp_path / "a.toml"
    toml.write_text('[aggregator]\nread_timeout = 30\nmax_retries = 7\ndata_dir = "x"\n')
    env = {"AGGREGATOR_MAX_RETRIES": "9", "AGGREGATOR_CONFIG": str(toml)}
    settings = load_settings(environ=env, data_dir="y")
    assert settings.read_timeout == 30.0  # TOML beats the default
    assert settings.max_retries == 9  # environment beats TOML
    assert settings.data_dir == "y"  # overrides beat everything
    assert load_settings(environ={}).read_timeout == Settings().read_timeout


def test_allow_networks_from_environment_is_comma_separated() -> None:
    settings = load_settings(environ={"AGGREGATOR_ALLOW_NETWORKS": "127.0.0.0/8, ::1/128"})
    assert [str(n) for n in settings.allowed_networks] == ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize(("env", "key"), [
    ({"AGGREGATOR_MAX_RETRIES": "many"}, "max_retries"),
    ({"AGGREGATOR_ALLOW_NETWORKS": "not-a-network"}, "allow_networks"),
    ({"AGGREGATOR_VERIFY_TLS": "perhaps"}, "verify_tls"),
    ({"AGGREGATOR_RECONCILE_MAX_SHARE": "1.5"}, "reconcile_max_share"),
    ({"AGGREGATOR_DEFAULT_EVERY": "often"}, "default_every"),
])
def test_bad_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings(environ=env)


def test_unknown_key_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(bad, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"AGGREGATOR_DATA_DIR": str(tmp_path)})
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'aggregator.sqlite3'}"
    pg = load_settings(environ={"AGGREGATOR_DATABASE_URL": "postgresql+psycopg://u@h/d"})
    assert pg.resolved_database_url == "postgresql+psycopg://u@h/d"


def test_user_agent_names_the_contact() -> None:
    assert "mailto:ops@example.org" in load_settings(
        environ={"AGGREGATOR_CONTACT_EMAIL": "ops@example.org"}).full_user_agent


def test_every_setting_is_documented_in_the_example_and_the_readme() -> None:
    example = (ROOT / "config" / "aggregator.example.toml").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in setting_help():
        assert f"\n{name} = " in example, f"{name} missing from aggregator.example.toml"
        assert f"`AGGREGATOR_{name.upper()}`" in readme, f"{name} missing from README"
    # the example file itself loads and equals the defaults
    assert load_settings(ROOT / "config" / "aggregator.example.toml", environ={}) == Settings()
