"""RSS and Atom feeds (feedparser): forums, blogs, review and news feeds."""
