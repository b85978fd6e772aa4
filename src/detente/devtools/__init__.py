"""Tools for developers and demonstrations, not the product: local clusters, the demo, the bench."""
