package mdk;

import org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat;

/**
 * {@code format("delta")} on the workspace double: parquet files, read and written as Spark's
 * parquet source does (no Delta log). Registered through META-INF/services.
 */
public class DeltaAsParquet extends ParquetFileFormat {
  @Override
  public String shortName() {
    return "delta";
  }

  @Override
  public String toString() {
    return "Delta (parquet on the workspace double)";
  }
}
