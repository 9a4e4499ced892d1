"""Users of Rapport (agents, managers, analysts, admins) and their roles."""
