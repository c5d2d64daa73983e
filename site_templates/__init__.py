"""The site's default theme: Jinja templates and the stylesheet, shipped as package data.

A deals repository overrides any one of them with a file of the same name in its own
`site_templates/` folder.
"""
