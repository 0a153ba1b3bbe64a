"""Sign-off checks of generated designs: mutation score of the regression and formal equivalence."""
