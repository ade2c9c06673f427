"""One pricing model for every channel (docs/decisions/0020): the breakdown an invoice shows, computed once
from an order's components, and the checks of every total a channel sends against it."""
