"""What puts work into the system: domain files (CLI) and, later, news feeds."""
