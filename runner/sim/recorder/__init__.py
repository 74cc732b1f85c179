"""The simulator's side of recording: the frame writer and the host that drives it.

The file format, reader and queries are shared with the runner in `runner.recorder`.
"""
