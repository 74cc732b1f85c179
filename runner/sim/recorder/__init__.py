"""CARLA-format recorder files: format, writer, reader and the three text queries."""
