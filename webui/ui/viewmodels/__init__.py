"""What the UI pages show, read from the database in a few queries and shaped for the
templates: the grid, the graph layout, the run view and the overview."""
