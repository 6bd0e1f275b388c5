"""Duplicate clusters: match keys, the same-work rule, and clustering as a store-side
stage that follows the records' change feed (``stage``) or reclusters the whole store
(``plan``); search indexes read its result through the clusters' change feed."""
