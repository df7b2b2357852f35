"""The network's register on the web: pages for its decisions, draws, elections and meetings, and
its export (CSV and JSON), served by the ops server under /registre."""
