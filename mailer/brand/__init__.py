"""The organisation's brand: name, logo, colours, postal address, social links, reply-to.

One settings row, edited by Admins, read by every public page and every email's chrome.
"""
