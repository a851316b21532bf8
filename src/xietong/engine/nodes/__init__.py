"""One module per node kind; ``transitions`` dispatches to them."""
