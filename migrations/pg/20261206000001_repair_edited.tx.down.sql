-- Nothing to undo: the schema it repairs is what the earlier migrations now create.
SELECT 1;
