"""Plots (matplotlib). Never imported by the models or the trainer."""
