package mdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.apache.spark.sql.catalyst.analysis.NamespaceAlreadyExistsException;
import org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.catalyst.analysis.NonEmptyNamespaceException;
import org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException;
import org.apache.spark.sql.connector.catalog.CatalogV2Util;
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
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * A Spark catalog over the kit's local table layout, for the workspace double's Spark Connect
 * server: {@code <catalog>.<schema>.<table>} is the folder {@code <root>/<schema>/<table>}, a
 * symlink to {@code .<table>.versions/<version>/} holding parquet parts, as
 * {@code recipes.tables.local} writes them (the double's serving endpoint writes its inference
 * tables there). A replace is staged in {@code .<table>.staging/<version>/} and committed by
 * one rename of the symlink, so a failed write leaves the old table whole. Properties live in
 * {@code .<table>.properties.json}. The provider (for example {@code delta}) is accepted and the
 * data are parquet: there is no Delta log, time travel or MERGE.
 *
 * <p>Configured as {@code spark.sql.catalog.<name>=mdk.LayoutCatalog} with
 * {@code spark.sql.catalog.<name>.root=<warehouse>/<name>}.
 */
public class LayoutCatalog implements StagingTableCatalog, SupportsNamespaces {
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC);
  private String name;
  private Path root;

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

  // ------------------------------------------------------------------ paths

  private Path schemaDir(String[] namespace) throws NoSuchNamespaceException {
    if (namespace.length != 1) {
      throw new NoSuchNamespaceException(namespace);
    }
    return root.resolve(namespace[0]);
  }

  private Layout layout(Identifier ident) throws NoSuchTableException {
    if (ident.namespace().length != 1) {
      throw new NoSuchTableException(ident);
    }
    return new Layout(root.resolve(ident.namespace()[0]), ident.name());
  }

  static String versionId() {
    Instant now = Instant.now();
    return String.format("v%s%06dZ-%s", STAMP.format(now), now.getNano() / 1000,
        UUID.randomUUID().toString().replace("-", "").substring(0, 12));
  }

  // ------------------------------------------------------------------ tables

  @Override
  public Identifier[] listTables(String[] namespace) throws NoSuchNamespaceException {
    Path dir = schemaDir(namespace);
    if (!Files.isDirectory(dir)) {
      throw new NoSuchNamespaceException(namespace);
    }
    List<Identifier> out = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String n = p.getFileName().toString();
        if (!n.startsWith(".") && !n.startsWith("_") && Files.isDirectory(p)) {
          out.add(Identifier.of(namespace, n));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Collections.sort(out, (a, b) -> a.name().compareTo(b.name()));
    return out.toArray(new Identifier[0]);
  }

  @Override
  public Table loadTable(Identifier ident) throws NoSuchTableException {
    Layout lay = layout(ident);
    Path current = lay.current();
    if (current == null) {
      throw new NoSuchTableException(ident);
    }
    return new LayoutTable(qualified(ident), current, null, lay.properties());
  }

  private String qualified(Identifier ident) {
    return name + "." + String.join(".", ident.namespace()) + "." + ident.name();
  }

  @Override
  public Table createTable(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties)
      throws TableAlreadyExistsException, NoSuchNamespaceException {
    StagedTable staged = stageCreate(ident, columns, partitions, properties);
    staged.commitStagedChanges();
    try {
      return loadTable(ident);
    } catch (NoSuchTableException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public StagedTable stageCreate(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties)
      throws TableAlreadyExistsException, NoSuchNamespaceException {
    Layout lay = known(ident);
    if (lay.current() != null) {
      throw new TableAlreadyExistsException(ident);
    }
    return stage(ident, lay, columns, properties, false);
  }

  @Override
  public StagedTable stageReplace(Identifier ident, Column[] columns, Transform[] partitions,
      Map<String, String> properties) throws NoSuchNamespaceException, NoSuchTableException {
    Layout lay = layout(ident);
    if (lay.current() == null) {
      throw new NoSuchTableException(ident);
    }
    return stage(ident, lay, columns, properties, true);
  }

  @Override
  public StagedTable stageCreateOrReplace(Identifier ident, Column[] columns,
      Transform[] partitions, Map<String, String> properties) throws NoSuchNamespaceException {
    return stage(ident, known(ident), columns, properties, true);
  }

  private Layout known(Identifier ident) throws NoSuchNamespaceException {
    if (ident.namespace().length != 1) {
      throw new NoSuchNamespaceException(ident.namespace());
    }
    return new Layout(root.resolve(ident.namespace()[0]), ident.name());
  }

  private StagedTable stage(Identifier ident, Layout lay, Column[] columns,
      Map<String, String> properties, boolean keepProperties) {
    StructType schema = CatalogV2Util.v2ColumnsToStructType(columns);
    Path staging = lay.staging.resolve(versionId());
    try {
      Files.createDirectories(staging); // Spark's parquet table lists it before it writes
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> props = new HashMap<>(keepProperties ? lay.properties() : Map.of());
    props.putAll(userProperties(properties));
    return new LayoutTable.Staged(qualified(ident), staging, schema, props, lay);
  }

  /** The properties a user set, without Spark's reserved ones (provider, location, ...). */
  static Map<String, String> userProperties(Map<String, String> properties) {
    Map<String, String> out = new HashMap<>();
    for (Map.Entry<String, String> e : properties.entrySet()) {
      String k = e.getKey();
      if (!CatalogV2Util.TABLE_RESERVED_PROPERTIES().contains(k) && !k.startsWith("option.")) {
        out.put(k, e.getValue());
      }
    }
    return out;
  }

  @Override
  public Table alterTable(Identifier ident, TableChange... changes) throws NoSuchTableException {
    Layout lay = layout(ident);
    if (lay.current() == null) {
      throw new NoSuchTableException(ident);
    }
    Map<String, String> props = new HashMap<>(lay.properties());
    for (TableChange change : changes) {
      if (change instanceof TableChange.SetProperty) {
        TableChange.SetProperty set = (TableChange.SetProperty) change;
        props.put(set.property(), set.value());
      } else if (change instanceof TableChange.RemoveProperty) {
        props.remove(((TableChange.RemoveProperty) change).property());
      } else {
        throw new UnsupportedOperationException(
            "The workspace double's tables take only SET/UNSET TBLPROPERTIES, not " + change);
      }
    }
    lay.writeProperties(props);
    return loadTable(ident);
  }

  @Override
  public boolean dropTable(Identifier ident) {
    try {
      return layout(ident).drop();
    } catch (NoSuchTableException e) {
      return false;
    }
  }

  @Override
  public void renameTable(Identifier from, Identifier to) {
    throw new UnsupportedOperationException("The workspace double's tables cannot be renamed");
  }

  // ------------------------------------------------------------------ schemas

  @Override
  public String[][] listNamespaces() {
    List<String[]> out = new ArrayList<>();
    if (Files.isDirectory(root)) {
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
        for (Path p : entries) {
          String n = p.getFileName().toString();
          if (!n.startsWith(".") && Files.isDirectory(p)) {
            out.add(new String[] {n});
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    out.sort((a, b) -> a[0].compareTo(b[0]));
    return out.toArray(new String[0][]);
  }

  @Override
  public String[][] listNamespaces(String[] namespace) throws NoSuchNamespaceException {
    if (namespace.length == 0) {
      return listNamespaces();
    }
    if (!Files.isDirectory(schemaDir(namespace))) {
      throw new NoSuchNamespaceException(namespace);
    }
    return new String[0][];
  }

  @Override
  public boolean namespaceExists(String[] namespace) {
    try {
      return Files.isDirectory(schemaDir(namespace));
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
      Files.createDirectories(dir);
    } catch (NoSuchNamespaceException e) {
      throw new IllegalArgumentException("A schema has one name part: " + Arrays.toString(namespace));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void alterNamespace(String[] namespace, NamespaceChange... changes) {
    throw new UnsupportedOperationException("The workspace double's schemas have no properties");
  }

  @Override
  public boolean dropNamespace(String[] namespace, boolean cascade)
      throws NoSuchNamespaceException, NonEmptyNamespaceException {
    Identifier[] tables = listTables(namespace);
    if (tables.length > 0 && !cascade) {
      throw new NonEmptyNamespaceException(namespace);
    }
    for (Identifier t : tables) {
      dropTable(t);
    }
    try {
      Layout.deleteTree(schemaDir(namespace));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return true;
  }

  static void move(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
