# One command answers "is it green?": make check
.PHONY: check lint typecheck test bench

check: lint typecheck test

lint:
	ruff check src tests bench

typecheck:
	mypy

test:
	pytest -q

bench:
	python bench/harvest.py
