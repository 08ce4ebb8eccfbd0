"""What each page holds (the planner), the interface words of each language, and the theme that renders them.
"""
