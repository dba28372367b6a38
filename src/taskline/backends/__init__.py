"""Storage engines behind one protocol: `base.Backend`."""
