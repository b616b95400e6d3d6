"""The Scrapy project: one spider per source, cleaning pipelines, validation and loading."""
