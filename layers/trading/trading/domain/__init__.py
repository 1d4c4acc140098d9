"""Domain value types shared by the engine, the services and the API edge. No I/O."""
