"""Contract tests: the OpenAPI document, the emulator and the client hold to each other."""
