"""HTTP routes: parse, authenticate, call one domain action, serialize."""
