"""The CMS HGCAL ECON-T chip: register images, input words, output frames."""
