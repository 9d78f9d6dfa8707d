package mdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.analysis.NamespaceAlreadyExistsException;
import org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.catalyst.analysis.NonEmptyNamespaceException;
import org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.NamespaceChange;
import org.apache.spark.sql.connector.catalog.StagedTable;
import org.apache.spark.sql.connector.catalog.StagingTableCatalog;
import org.apache.spark.sql.connector.catalog.SupportsNamespaces;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCatalog;
import org.apache.spark.sql.connector.catalog.TableChange;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.delta.catalog.DeltaCatalog;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * The smallest catalog that gives local Spark three-level names over Delta tables:
 * {@code <catalog>.<schema>.<table>} is the Delta table at {@code <root>/<schema>/<table>}.
 *
 * <p>Every table operation is Delta's own: this class turns a name into Delta's path
 * identifier ({@code delta.`<path>`}) and hands it to {@link DeltaCatalog} (load, time travel,
 * create, replace, CTAS/RTAS, ALTER TABLE). It keeps no state and no metadata of its own: a
 * table exists when its folder has a {@code _delta_log}, so a table written by delta-rs at that
 * path (the serving endpoint's inference tables) is found too. A schema is a folder; writing
 * into a schema that does not exist fails as in Unity Catalog (create it first), whose
 * catalogs each have a {@code default} schema. Only Delta tables are kept: another provider
 * ({@code format("parquet")}) is refused.
 *
 * <p>Configured as {@code spark.sql.catalog.<name>=mdk.PathCatalog} with
 * {@code spark.sql.catalog.<name>.root=<warehouse>/<name>}.
 */
public class PathCatalog implements StagingTableCatalog, SupportsNamespaces {
  private static final String DEFAULT = "default";
  private String name;
  private Path root;
  private DeltaCatalog delta;

  @Override
  public void initialize(String name, CaseInsensitiveStringMap options) {
    this.name = name;
    String dir = options.get("root");
    if (dir == null) {
      throw new IllegalArgumentException("spark.sql.catalog." + name + ".root is not set");
    }
    this.root = Paths.get(dir).toAbsolutePath();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String[] defaultNamespace() {
    return new String[] {"default"};
  }

  private DeltaCatalog delta() {
    if (delta == null) {
      DeltaCatalog d = new DeltaCatalog();
      d.setDelegateCatalog(
          SparkSession.active().sessionState().catalogManager().v2SessionCatalog());
      delta = d;
    }
    return delta;
  }

  // ------------------------------------------------------------------ names and paths

  private Path schemaDir(String[] namespace) throws NoSuchNamespaceException {
    if (namespace.length != 1) {
      throw new NoSuchNamespaceException(namespace);
    }
    return root.resolve(namespace[0].toLowerCase());
  }

  private Path tableDir(Identifier ident) throws NoSuchTableException {
    if (ident.namespace().length != 1) {
      throw new NoSuchTableException(ident);
    }
    return root.resolve(ident.namespace()[0].toLowerCase()).resolve(ident.name().toLowerCase());
  }

  private static boolean isDelta(Path dir) {
    return Files.isDirectory(dir.resolve("_delta_log"));
  }

  /** Delta's own name for the table at {@code dir}: {@code delta.`<dir>`}. */
  private static Identifier byPath(Path dir) {
    return Identifier.of(new String[] {"delta"}, dir.toString());
  }

  private Identifier existing(Identifier ident) throws NoSuchTableException {
    Path dir = tableDir(ident);
    if (!isDelta(dir)) {
      throw new NoSuchTableException(ident);
    }
    return byPath(dir);
  }

  /**
   * A new table's path identifier. Its schema must exist, as in Unity Catalog, where every
   * catalog has a {@code default} schema (made here on first use).
   */
  private Identifier creating(Identifier ident) throws NoSuchNamespaceException {
    Path schema = schemaDir(ident.namespace());
    if (DEFAULT.equals(schema.getFileName().toString())) {
      mkdirs(schema);
    }
    if (!Files.isDirectory(schema)) {
      throw new NoSuchNamespaceException(new String[] {name, ident.namespace()[0]});
    }
    return byPath(schema.resolve(ident.name().toLowerCase()));
  }

  /** Only Delta tables are kept here: another provider is refused in one line. */
  private static Map<String, String> deltaOnly(Identifier ident, Map<String, String> properties) {
    String provider = properties.get(TableCatalog.PROP_PROVIDER);
    if (provider != null && !provider.equalsIgnoreCase("delta")) {
      throw new UnsupportedOperationException("Table " + ident + " would be " + provider
          + ": the local catalog holds Delta tables only; write format(\"delta\") (the default)");
    }
    return properties;
  }

  // ------------------------------------------------------------------ tables

  @Override
  public Identifier[] listTables(String[] namespace) throws NoSuchNamespaceException {
    Path dir = schemaDir(namespace);
    if (!Files.isDirectory(dir)) {
      throw new NoSuchNamespaceException(namespace);
    }
    List<Identifier> out = new ArrayList<>();
    for (Path p : children(dir)) {
      if (isDelta(p)) {
        out.add(Identifier.of(namespace, p.getFileName().toString()));
      }
    }
    out.sort(Comparator.comparing(Identifier::name));
    return out.toArray(new Identifier[0]);
  }

  @Override
  public boolean tableExists(Identifier ident) {
    try {
      return isDelta(tableDir(ident));
    } catch (NoSuchTableException e) {
      return false;
    }
  }

  @Override
  public Table loadTable(Identifier ident) throws NoSuchTableException {
    return delta().loadTable(existing(ident));
  }

  @Override
  public Table loadTable(Identifier ident, String version) throws NoSuchTableException {
    return delta().loadTable(existing(ident), version);
  }

  @Override
  public Table loadTable(Identifier ident, long timestamp) throws NoSuchTableException {
    return delta().loadTable(existing(ident), timestamp);
  }

  @Override
  public void invalidateTable(Identifier ident) {}

  @Override
  public Table createTable(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties)
      throws TableAlreadyExistsException, NoSuchNamespaceException {
    if (tableExists(ident)) {
      throw new TableAlreadyExistsException(ident);
    }
    return delta().createTable(creating(ident), columns, partitions, deltaOnly(ident, properties));
  }

  @Override
  public StagedTable stageCreate(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties)
      throws TableAlreadyExistsException, NoSuchNamespaceException {
    if (tableExists(ident)) {
      throw new TableAlreadyExistsException(ident);
    }
    return delta().stageCreate(creating(ident), columns, partitions, deltaOnly(ident, properties));
  }

  @Override
  public StagedTable stageReplace(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties) throws NoSuchNamespaceException, NoSuchTableException {
    existing(ident);
    return delta().stageReplace(creating(ident), columns, partitions, deltaOnly(ident, properties));
  }

  @Override
  public StagedTable stageCreateOrReplace(Identifier ident, Column[] columns,
      Transform[] partitions, Map<String, String> properties) throws NoSuchNamespaceException {
    return delta().stageCreateOrReplace(creating(ident), columns, partitions, deltaOnly(ident, properties));
  }

  @Override
  public Table alterTable(Identifier ident, TableChange... changes) throws NoSuchTableException {
    return delta().alterTable(existing(ident), changes);
  }

  /** Drops the table: its folder, data and log, goes (a managed table's drop). */
  @Override
  public boolean dropTable(Identifier ident) {
    Path dir;
    try {
      dir = tableDir(ident);
    } catch (NoSuchTableException e) {
      return false;
    }
    if (!isDelta(dir)) {
      return false;
    }
    deleteTree(dir);
    return true;
  }

  @Override
  public void renameTable(Identifier from, Identifier to) {
    throw new UnsupportedOperationException(
        "RENAME TABLE is not imitated locally: write the table under its new name");
  }

  // ------------------------------------------------------------------ schemas

  @Override
  public String[][] listNamespaces() {
    List<String[]> out = new ArrayList<>();
    out.add(new String[] {DEFAULT});
    if (Files.isDirectory(root)) {
      for (Path p : children(root)) {
        if (!DEFAULT.equals(p.getFileName().toString())) {
          out.add(new String[] {p.getFileName().toString()});
        }
      }
    }
    out.sort(Comparator.comparing(a -> a[0]));
    return out.toArray(new String[0][]);
  }

  @Override
  public String[][] listNamespaces(String[] namespace) throws NoSuchNamespaceException {
    if (namespace.length == 0) {
      return listNamespaces();
    }
    if (!namespaceExists(namespace)) {
      throw new NoSuchNamespaceException(namespace);
    }
    return new String[0][];
  }

  @Override
  public boolean namespaceExists(String[] namespace) {
    try {
      Path dir = schemaDir(namespace);
      return Files.isDirectory(dir) || DEFAULT.equals(dir.getFileName().toString());
    } catch (NoSuchNamespaceException e) {
      return false;
    }
  }

  @Override
  public Map<String, String> loadNamespaceMetadata(String[] namespace)
      throws NoSuchNamespaceException {
    if (!namespaceExists(namespace)) {
      throw new NoSuchNamespaceException(namespace);
    }
    return Map.of();
  }

  @Override
  public void createNamespace(String[] namespace, Map<String, String> metadata)
      throws NamespaceAlreadyExistsException {
    try {
      Path dir = schemaDir(namespace);
      if (Files.isDirectory(dir)) {
        throw new NamespaceAlreadyExistsException(namespace);
      }
      mkdirs(dir);
    } catch (NoSuchNamespaceException e) {
      throw new IllegalArgumentException("a schema name has one part: " + String.join(".", namespace));
    }
  }

  @Override
  public void alterNamespace(String[] namespace, NamespaceChange... changes) {
    throw new UnsupportedOperationException("ALTER SCHEMA is not imitated locally");
  }

  @Override
  public boolean dropNamespace(String[] namespace, boolean cascade)
      throws NoSuchNamespaceException, NonEmptyNamespaceException {
    Path dir = schemaDir(namespace);
    if (!Files.isDirectory(dir)) {
      return false;
    }
    if (!cascade && !children(dir).isEmpty()) {
      throw new NonEmptyNamespaceException(namespace);
    }
    deleteTree(dir);
    return true;
  }

  // ------------------------------------------------------------------ files

  /** Sub-folders of {@code dir}, without hidden ones ({@code .x}, {@code _x}). */
  private static List<Path> children(Path dir) {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String n = p.getFileName().toString();
        if (!n.startsWith(".") && !n.startsWith("_") && Files.isDirectory(p)) {
          out.add(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static void mkdirs(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
