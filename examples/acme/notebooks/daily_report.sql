-- Databricks notebook source
-- Revenue per store and day, for the finance dashboard.
CREATE OR REPLACE VIEW retail.daily_revenue AS
SELECT order_date, store, SUM(amount) AS revenue, SUM(quantity) AS units
FROM retail.sales
GROUP BY order_date, store;
