"""Citizen text on its way in: cleaning and the message size limit."""
