-- Databricks notebook source
-- Drop test shipments and normalise carrier codes.
DELETE FROM logistics.shipments WHERE shipment_id LIKE 'TEST-%';
UPDATE logistics.shipments SET origin = upper(trim(origin)), destination = upper(trim(destination));
