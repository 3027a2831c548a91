DROP TABLE shared_store;
