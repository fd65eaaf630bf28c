# The source tables as the S3 source endpoint must read them back from the event store:
# one entry per column of harness/load/schema.py's DDL, in its order (CSV fields are
# positional). DMS types: bigint INT8, integer INT4, numeric(19,4) NUMERIC(19,4),
# timestamptz DATETIME (microseconds: scale 6), text and jsonb CLOB (unbounded character
# data, which the DynamoDB target writes as strings).
locals {
  source_schema = "public"

  source_tables = {
    widgets = [
      { name = "id", type = "INT8", nullable = false, pk = true },
      { name = "version", type = "INT8", nullable = false },
      { name = "written_at", type = "DATETIME", nullable = false, scale = 6 },
      { name = "name", type = "CLOB", nullable = false },
      { name = "price", type = "NUMERIC", precision = 19, scale = 4 },
      { name = "produced_at", type = "DATETIME", scale = 6 },
      { name = "attrs", type = "CLOB" },
      { name = "notes", type = "CLOB" },
    ]
    orders = [
      { name = "id", type = "INT8", nullable = false, pk = true },
      { name = "version", type = "INT8", nullable = false },
      { name = "written_at", type = "DATETIME", nullable = false, scale = 6 },
      { name = "widget_id", type = "INT8", nullable = false },
      { name = "quantity", type = "INT4", nullable = false },
      { name = "amount", type = "NUMERIC", nullable = false, precision = 19, scale = 4 },
      { name = "status", type = "CLOB" },
      { name = "meta", type = "CLOB" },
    ]
  }

  # The external table definition's values are strings, as in the DMS user guide.
  external_table_definition = jsonencode({
    TableCount = tostring(length(local.source_tables))
    Tables = [
      for table, columns in local.source_tables : {
        TableName  = table
        TablePath  = "${local.source_schema}/${table}/"
        TableOwner = local.source_schema
        TableColumns = [
          for c in columns : merge(
            {
              ColumnName     = c.name
              ColumnType     = c.type
              ColumnNullable = tostring(lookup(c, "nullable", true))
              ColumnIsPk     = tostring(lookup(c, "pk", false))
            },
            lookup(c, "precision", null) == null ? {} : { ColumnPrecision = tostring(c.precision) },
            lookup(c, "scale", null) == null ? {} : { ColumnScale = tostring(c.scale) },
          )
        ]
        TableColumnsTotal = tostring(length(columns))
      }
    ]
  })
}
