package mdk;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.StagedTable;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.SupportsWrite;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.connector.write.LogicalWriteInfo;
import org.apache.spark.sql.connector.write.SupportsTruncate;
import org.apache.spark.sql.connector.write.Write;
import org.apache.spark.sql.connector.write.WriteBuilder;
import org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat;
import org.apache.spark.sql.execution.datasources.v2.parquet.ParquetTable;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

import scala.Option;
import scala.jdk.javaapi.CollectionConverters;

/** One version folder of a table, read and written by Spark's own parquet table. */
class LayoutTable implements SupportsRead, SupportsWrite {
  private final String name;
  private final ParquetTable parquet;
  private final Map<String, String> properties;

  LayoutTable(String name, Path folder, StructType schema, Map<String, String> properties) {
    this.name = name;
    this.properties = properties;
    this.parquet = ParquetTable.apply(
        name,
        SparkSession.active(),
        CaseInsensitiveStringMap.empty(),
        CollectionConverters.asScala(java.util.List.of(folder.toString())).toList(),
        Option.apply(schema),
        ParquetFileFormat.class);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  @SuppressWarnings("deprecation")
  public StructType schema() {
    return parquet.schema();
  }

  @Override
  public Column[] columns() {
    return parquet.columns();
  }

  @Override
  public Map<String, String> properties() {
    return properties;
  }

  @Override
  public Set<TableCapability> capabilities() {
    return parquet.capabilities();
  }

  @Override
  public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
    return parquet.newScanBuilder(options);
  }

  @Override
  public WriteBuilder newWriteBuilder(LogicalWriteInfo info) {
    return parquet.newWriteBuilder(info);
  }

  /** A new version being written in the staging folder: installed on commit, deleted on abort. */
  static final class Staged extends LayoutTable implements StagedTable {
    private final Path folder;
    private final Layout layout;
    private final Map<String, String> props;

    Staged(String name, Path folder, StructType schema, Map<String, String> props, Layout layout) {
      super(name, folder, schema, props);
      this.folder = folder;
      this.layout = layout;
      this.props = props;
    }

    /** Replacing writes truncate first: the staged folder is new and empty already. */
    @Override
    public Set<TableCapability> capabilities() {
      Set<TableCapability> caps = new java.util.HashSet<>(super.capabilities());
      caps.add(TableCapability.TRUNCATE);
      return caps;
    }

    @Override
    public WriteBuilder newWriteBuilder(LogicalWriteInfo info) {
      WriteBuilder inner = super.newWriteBuilder(info);
      return new SupportsTruncate() {
        @Override
        public WriteBuilder truncate() {
          return this;
        }

        @Override
        public Write build() {
          return inner.build();
        }
      };
    }

    @Override
    public void commitStagedChanges() {
      layout.writeProperties(props);
      layout.install(folder);
    }

    @Override
    public void abortStagedChanges() {
      try {
        Layout.deleteTree(folder);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}
