"""The machinery: the worker and its lanes, retries, health, the loop's lag, intake's patience."""
