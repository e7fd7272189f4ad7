"""Program B: the AI cybersecurity clearinghouse."""
