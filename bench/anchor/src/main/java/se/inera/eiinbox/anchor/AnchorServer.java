// The Java anchor of npm run bench:anchor: the plain CXF endpoint a Java team would write for
// ProcessNotification. Every call's transactions go into one table with one JDBC batch insert and one
// commit, and the answer counts them. No validation beyond JAXB's, no redelivery check, no queue: the
// floor of what storing a call costs on a JVM, against which ei-inbox's ingest is measured.
//
// Arguments: the port, the JDBC URL (user in the URL). Prints "anchor listening <url>" when ready.
package se.inera.eiinbox.anchor;

import jakarta.xml.ws.Endpoint;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import riv.itintegration.engagementindex._1.EngagementTransactionType;
import riv.itintegration.engagementindex._1.EngagementType;
import riv.itintegration.engagementindex._1.ResultCodeEnum;
import riv.itintegration.engagementindex.processnotification._1.rivtabp21.ProcessNotificationResponderInterface;
import riv.itintegration.engagementindex.processnotificationresponder._1.ProcessNotificationResponseType;
import riv.itintegration.engagementindex.processnotificationresponder._1.ProcessNotificationType;

@jakarta.jws.WebService(
    serviceName = "ProcessNotificationResponderService",
    portName = "ProcessNotificationResponderPort",
    targetNamespace = "urn:riv:itintegration:engagementindex:ProcessNotification:1:rivtabp21",
    endpointInterface = "riv.itintegration.engagementindex.processnotification._1.rivtabp21.ProcessNotificationResponderInterface")
public class AnchorServer implements ProcessNotificationResponderInterface {
  static final String TABLE = "anchor_notification";
  static final String INSERT = "insert into " + TABLE + " (position, delete_flag, resident, service_domain, categorization,"
      + " logical_address, business_object_instance_identifier, clinical_process_interest_id, most_recent_content,"
      + " source_system, creation_time, update_time, data_controller, owner) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

  /** A fixed pool: as many connections as calls the load generator keeps in flight, and some. */
  private final BlockingQueue<Connection> pool;

  AnchorServer(String jdbcUrl, int connections) throws SQLException {
    pool = new ArrayBlockingQueue<>(connections);
    for (int i = 0; i < connections; i++) {
      Connection connection = DriverManager.getConnection(jdbcUrl);
      connection.setAutoCommit(false);
      pool.add(connection);
    }
  }

  @Override
  public ProcessNotificationResponseType processNotification(String logicalAddress, ProcessNotificationType parameters) {
    Connection connection;
    try {
      connection = pool.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    int stored = 0;
    try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
      int position = 0;
      for (EngagementTransactionType transaction : parameters.getEngagementTransaction()) {
        EngagementType e = transaction.getEngagement();
        position++;
        insert.setInt(1, position);
        insert.setBoolean(2, transaction.isDeleteFlag());
        insert.setString(3, e.getRegisteredResidentIdentification());
        insert.setString(4, e.getServiceDomain());
        insert.setString(5, e.getCategorization());
        insert.setString(6, e.getLogicalAddress());
        insert.setString(7, e.getBusinessObjectInstanceIdentifier());
        insert.setString(8, e.getClinicalProcessInterestId());
        insert.setString(9, e.getMostRecentContent());
        insert.setString(10, e.getSourceSystem());
        insert.setString(11, e.getCreationTime());
        insert.setString(12, e.getUpdateTime());
        insert.setString(13, e.getDataController());
        insert.setString(14, e.getOwner());
        insert.addBatch();
      }
      insert.executeBatch();
      connection.commit();
      stored = position;
    } catch (SQLException e) {
      try {
        connection.rollback();
      } catch (SQLException ignored) {
        // The connection is broken; the call fails either way.
      }
      throw new IllegalStateException("could not store the call", e);
    } finally {
      pool.add(connection);
    }
    ProcessNotificationResponseType answer = new ProcessNotificationResponseType();
    answer.setResultCode(ResultCodeEnum.OK);
    answer.setComment("accepted " + stored + " (already received 0), ignored 0, rejected 0");
    return answer;
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String jdbcUrl = args[1];
    try (Connection connection = DriverManager.getConnection(jdbcUrl); Statement statement = connection.createStatement()) {
      statement.execute("create table if not exists " + TABLE + " (id bigserial primary key, received_at timestamptz not null default now(),"
          + " position int not null, delete_flag boolean not null, resident text not null, service_domain text not null,"
          + " categorization text, logical_address text not null, business_object_instance_identifier text not null,"
          + " clinical_process_interest_id text not null, most_recent_content text, source_system text not null,"
          + " creation_time text, update_time text, data_controller text not null, owner text)");
    }
    String url = "http://127.0.0.1:" + port + "/ProcessNotification/1/rivtabp21";
    Endpoint.publish(url, new AnchorServer(jdbcUrl, 8));
    System.out.println("anchor listening " + url);
  }
}
