DROP TABLE username_history;
