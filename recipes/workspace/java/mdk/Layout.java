package mdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;

/** The paths of one table in the kit's layout (see {@code recipes/tables/local.py}). */
final class Layout {
  private static final ObjectMapper JSON = new ObjectMapper();
  final Path link;
  final Path versions;
  final Path staging;
  final Path propertiesFile;

  Layout(Path schemaDir, String table) {
    this.link = schemaDir.resolve(table);
    this.versions = schemaDir.resolve("." + table + ".versions");
    this.staging = schemaDir.resolve("." + table + ".staging");
    this.propertiesFile = schemaDir.resolve("." + table + ".properties.json");
  }

  /** The version folder the table's symlink points at (a plain folder is its own), or null. */
  Path current() {
    try {
      Path target = link.getParent().resolve(Files.readSymbolicLink(link));
      return Files.isDirectory(target) ? target : null;
    } catch (NoSuchFileException e) {
      return null;
    } catch (NotLinkException e) {
      return Files.isDirectory(link, LinkOption.NOFOLLOW_LINKS) ? link : null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Map<String, String> properties() {
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> doc = JSON.readValue(propertiesFile.toFile(), Map.class);
      Map<String, String> out = new TreeMap<>();
      doc.forEach((k, v) -> out.put(k, String.valueOf(v)));
      return out;
    } catch (IOException e) {
      return new TreeMap<>();
    }
  }

  void writeProperties(Map<String, String> props) {
    try {
      Files.createDirectories(propertiesFile.getParent());
      Path tmp = propertiesFile.resolveSibling(propertiesFile.getFileName() + ".jvm.tmp");
      Files.write(tmp, JSON.writeValueAsString(new TreeMap<>(props)).getBytes(StandardCharsets.UTF_8));
      LayoutCatalog.move(tmp, propertiesFile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Move a staged version in, point the table at it (one rename), keep it and the previous. */
  void install(Path staged) {
    try {
      Path previous = current();
      Files.createDirectories(versions);
      Path fin = versions.resolve(staged.getFileName());
      LayoutCatalog.move(staged, fin);
      if (previous != null && previous.equals(link)) { // a plain folder: keep it as a version
        Path kept = versions.resolve(LayoutCatalog.versionId() + "-plain");
        LayoutCatalog.move(link, kept);
        previous = kept;
      }
      Path tmp = link.resolveSibling("." + link.getFileName() + ".link-" + staged.getFileName());
      Files.deleteIfExists(tmp);
      Files.createSymbolicLink(tmp, Paths.get(versions.getFileName().toString(), fin.getFileName().toString()));
      LayoutCatalog.move(tmp, link);
      Set<String> keep = new HashSet<>();
      keep.add(fin.getFileName().toString());
      if (previous != null) {
        keep.add(previous.getFileName().toString());
      }
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(versions)) {
        for (Path p : entries) {
          if (!keep.contains(p.getFileName().toString())) {
            deleteTree(p);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  boolean drop() {
    try {
      boolean existed = current() != null;
      if (Files.isSymbolicLink(link)) {
        Files.delete(link);
      } else if (Files.isDirectory(link)) {
        deleteTree(link);
      }
      deleteTree(versions);
      deleteTree(staging);
      Files.deleteIfExists(propertiesFile);
      return existed;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
