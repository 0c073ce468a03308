"""dockerarch: make Dockerfiles build natively on amd64 and arm64."""

__version__ = "0.1.0"
