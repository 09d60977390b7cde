"""The operator console (SPEC 10): server-rendered pages under /console/."""
