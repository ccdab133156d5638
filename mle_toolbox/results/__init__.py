"""Reading results back: logs merged over seeds, summaries, reports, figures."""
