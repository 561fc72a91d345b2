"""``make bench``: run every benchmark and print their figures as JSON lines."""

from bench import parse_bench

if __name__ == "__main__":
    parse_bench.main()
