"""Offline and online facts about images and packages on each architecture."""
