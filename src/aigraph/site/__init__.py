"""The static site: dump files and a crawled copy of the site, with server configurations."""
