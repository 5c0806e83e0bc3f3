# Databricks notebook source
# Loads the uploaded sales file into the sales table, dropping duplicate order lines.

table = dbutils.widgets.get("table")
sales = spark.table(table).dropDuplicates(["order_id", "sku"])
sales.write.mode("overwrite").saveAsTable(table)
print(f"{sales.count()} order lines in {table}")
