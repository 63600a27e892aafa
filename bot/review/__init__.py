"""What managers do with what citizens said: themes, knowledge gaps, coding."""
