package mdk;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.UUID;

import io.delta.storage.HadoopFileSystemLogStore;
import org.apache.hadoop.conf.Configuration;

/**
 * Delta's log store for local files, with an atomic put-if-absent for each commit.
 *
 * <p>Delta's default for {@code file:} paths (HDFSLogStore) commits version N by checking that
 * {@code _delta_log/N.json} does not exist and then renaming its temporary file onto it. On a
 * local file system that rename replaces an existing file, so another process committing N
 * between the check and the rename (the serving endpoint appends inference tables with
 * delta-rs) has its commit overwritten and its rows silently lost. This store writes the
 * temporary file, then hard-links it to the commit's name: link(2) fails with EEXIST when the
 * name exists, atomically, as delta-rs's own local commits do. Delta then sees
 * {@link FileAlreadyExistsException} and retries the transaction at the next version.
 * An overwrite ({@code _last_checkpoint}) is an atomic rename.
 */
public class LinkLogStore extends HadoopFileSystemLogStore {

  public LinkLogStore(Configuration hadoopConf) {
    super(hadoopConf);
  }

  @Override
  public void write(
      org.apache.hadoop.fs.Path path,
      Iterator<String> actions,
      Boolean overwrite,
      Configuration hadoopConf)
      throws IOException {
    Path target = Paths.get(path.toUri());
    Path dir = target.getParent();
    if (!Files.isDirectory(dir)) {
      throw new FileNotFoundException("No such file or directory: " + dir);
    }
    Path tmp = dir.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
    try {
      try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        while (actions.hasNext()) {
          out.write(actions.next());
          out.write('\n');
        }
      }
      if (overwrite) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      } else {
        Files.createLink(target, tmp); // atomic: EEXIST when another writer committed first
      }
    } catch (FileAlreadyExistsException e) {
      throw new FileAlreadyExistsException(path.toString());
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public Boolean isPartialWriteVisible(
      org.apache.hadoop.fs.Path path, Configuration hadoopConf) {
    return false;
  }
}
