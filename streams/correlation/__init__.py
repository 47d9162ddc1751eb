"""News correlation: did a provider's view of a brand change across a news event?"""
