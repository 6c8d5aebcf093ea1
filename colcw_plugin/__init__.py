"""colcw: the ConnectWise Manage integration plugin for the host_stub quoting app."""
