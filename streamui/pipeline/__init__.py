"""Core stages: plain Python, an injected clock, no Django import at module level."""
