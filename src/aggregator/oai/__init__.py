"""The OAI-PMH side of the aggregator: the protocol's rules (shared with the demo's member
servers) and the network's aggregated feed at ``/oai``."""
