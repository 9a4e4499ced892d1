"""The command-line face: parse arguments, call one service, render."""
