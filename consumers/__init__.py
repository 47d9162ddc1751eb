"""One module per consumer group; each registers its subscribers on a broker."""
