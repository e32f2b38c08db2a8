"""The golden files' float marking, shared by python-repr's and enrichment's generators."""


def mark_floats(v):
    """Integral floats as {"$float": x}: JSON alone cannot tell 0.0 from 0 (the TS side wraps them in PyFloat)."""
    if isinstance(v, float) and v.is_integer():
        return {"$float": v}
    if isinstance(v, list):
        return [mark_floats(x) for x in v]
    if isinstance(v, dict):
        return {k: mark_floats(x) for k, x in v.items()}
    return v
